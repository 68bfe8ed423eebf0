<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>bus_routes</se:Name>
  <sld:UserStyle>
   <se:Name>bus_routes</se:Name>
   <se:Description>
    <se:Title>Bus routes</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>Bus routes</se:Name>
     <se:Description>
      <se:Title>Bus routes</se:Title>
     </se:Description>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#0057b8</se:SvgParameter>
       <se:SvgParameter name="stroke-width">2.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
   </se:FeatureTypeStyle>
  </sld:UserStyle>
 </sld:NamedLayer>
</sld:StyledLayerDescriptor>
