<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>parking_sites</se:Name>
  <sld:UserStyle>
   <se:Name>parking_sites</se:Name>
   <se:Description>
    <se:Title>Parking sites</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>Parking sites</se:Name>
     <se:Description>
      <se:Title>Parking sites</se:Title>
     </se:Description>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#1f77b4</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>8</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
   </se:FeatureTypeStyle>
  </sld:UserStyle>
 </sld:NamedLayer>
</sld:StyledLayerDescriptor>
