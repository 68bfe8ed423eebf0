<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>latest_readings</se:Name>
  <sld:UserStyle>
   <se:Name>latest_readings</se:Name>
   <se:Description>
    <se:Title>Latest sensor readings</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>air</se:Name>
     <se:Description>
      <se:Title>air</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>kind</ogc:PropertyName>
       <ogc:Literal>air</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#ff7f0e</se:SvgParameter>
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
    <se:Rule>
     <se:Name>water_level</se:Name>
     <se:Description>
      <se:Title>water level</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>kind</ogc:PropertyName>
       <ogc:Literal>water_level</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
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
    <se:Rule>
     <se:Name>rain</se:Name>
     <se:Description>
      <se:Title>rain</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>kind</ogc:PropertyName>
       <ogc:Literal>rain</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#17becf</se:SvgParameter>
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
    <se:Rule>
     <se:Name>other</se:Name>
     <se:Description>
      <se:Title>other</se:Title>
     </se:Description>
     <se:ElseFilter />
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#9e9e9e</se:SvgParameter>
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
